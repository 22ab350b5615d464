#!/usr/bin/env bash
# Tiny MACE foundation from scratch -> deng2025 multi-head fine-tune -> NEB with the result,
# all through the ionflow CLI in .venv-mace (bash scripts/setup_mace.sh first). ~2 CPU-minutes.
# Results (JSON, logs, curves) in benchmarks/runs/mace_multihead_demo/; work files in its work/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=benchmarks/runs/mace_multihead_demo
WORK=$OUT/work
mkdir -p "$WORK"
export OMP_NUM_THREADS=1 IONFLOW_STORE_DIR=$PWD/$WORK/store IONFLOW_USE_JOBFLOW_STORE=never
PY=.venv-mace/bin/python
IONFLOW=.venv-mace/bin/ionflow
$PY - "$WORK" <<'PYEOF'
import sys
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor
from ionflow.core.hops import build_vacancy_endpoints, enumerate_hops
from ionflow.core.training import write_extxyz
from ionflow.core.training.synthetic import emt_alloy_configs

work = sys.argv[1]
configs = emt_alloy_configs
write_extxyz(configs(30, ["Cu", "Al", "Ni"], 1) + configs(6, ["Cu"], 2, True), f"{work}/foundation_data.extxyz")
write_extxyz(configs(20, ["Cu", "Ni"], 3, True), f"{work}/cu_ni.extxyz")
cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
hop = enumerate_hops(cu, "Cu", symprec=0.1)[0]
for name, at in zip(("ini", "fin"), build_vacancy_endpoints(cu, hop, min_length=7.0).to_ase()):
    AseAtomsAdaptor.get_structure(at).to(filename=f"{work}/{name}.vasp")
PYEOF
TINY=(--epochs 8 --batch-size 5 --seed 1)
# the tiny foundation: the Python API sets the tiny architecture (the CLI trains deng2025's size)
$PY - "$WORK" <<'PYEOF' | tee "$OUT/foundation.json"
import json, sys
from ionflow.core.training import MACEFineTuneSettings, get_backend, read_extxyz
work = sys.argv[1]
data = read_extxyz(f"{work}/foundation_data.extxyz")
s = MACEFineTuneSettings(epochs=8, batch_size=5, seed=1, num_channels=8, max_L=0, r_max=4.0, correlation=2)
r = get_backend("mace").train(data[:28], data[28:32], data[32:], s, f"{work}/foundation")
print(json.dumps({"model_spec": r.model_spec, "metrics": r.metrics, "epochs_run": r.epochs_run, "wall_time_s": r.wall_time_s}, indent=1))
PYEOF
FOUNDATION=$WORK/foundation/mace_finetuned.model
/usr/bin/time -f "%e s wall" $IONFLOW finetune "$WORK/cu_ni.extxyz" --backend mace --foundation "$FOUNDATION" \
    --replay "$WORK/foundation_data.extxyz" --epochs 6 --batch-size 5 --model-dir "$WORK/models" --json \
    > "$OUT/multihead.json" 2> "$OUT/multihead.stderr.log"
cat "$OUT/multihead.json"
MH_DIR=$(dirname "$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['checkpoint'])" "$OUT/multihead.json")")
cp "$MH_DIR/ionflow_mace.json" "$MH_DIR/training_curve.png" "$OUT/"
grep -E "Using heads|Learning rate:|Epoch [0-9]+:" "$MH_DIR/mace_train.log" > "$OUT/multihead_heads_and_epochs.log" || true
SPEC=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['model_spec'])" "$OUT/multihead.json")
set +e
/usr/bin/time -f "%e s wall" $IONFLOW neb "$WORK/ini.vasp" "$WORK/fin.vasp" --model "$SPEC" --n-images 5 \
    --max-steps 100 --fmax 0.05 --json > "$OUT/neb.json" 2> "$OUT/neb.stderr.log"
echo "neb exit status $?" | tee -a "$OUT/neb.stderr.log"
$IONFLOW neb "$WORK/ini.vasp" "$WORK/fin.vasp" --model '{"@module": "ase.calculators.emt", "@callable": "EMT"}' \
    --n-images 5 --max-steps 100 --fmax 0.05 --json > "$OUT/neb_emt_teacher.json" 2>> "$OUT/neb.stderr.log"
cat "$OUT/neb.json" "$OUT/neb_emt_teacher.json"
