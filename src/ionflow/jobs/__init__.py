"""jobflow Makers, one per step."""

from __future__ import annotations

from ionflow.jobs.diffusion import ArrheniusMaker, DiffusionAnalysisMaker
from ionflow.jobs.finetune import DatasetMaker, FineTuneMaker, TrainingConfigsMaker
from ionflow.jobs.hops import HopEnumerationMaker
from ionflow.jobs.label import TeacherLabelMaker, VaspStaticLabelMaker
from ionflow.jobs.md import MLIPMDMaker
from ionflow.jobs.neb import MLIPNebMaker
from ionflow.jobs.ordering import OrderingMaker
from ionflow.jobs.vacancy import VacancyRelaxMaker

__all__ = [
    "ArrheniusMaker",
    "DatasetMaker",
    "DiffusionAnalysisMaker",
    "FineTuneMaker",
    "HopEnumerationMaker",
    "MLIPMDMaker",
    "MLIPNebMaker",
    "OrderingMaker",
    "TeacherLabelMaker",
    "TrainingConfigsMaker",
    "VacancyRelaxMaker",
    "VaspStaticLabelMaker",
]
