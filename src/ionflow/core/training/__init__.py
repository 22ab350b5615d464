"""Fine-tuning: datasets, selection of configurations, and the CHGNet / MACE backends."""
