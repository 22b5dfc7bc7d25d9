"""Experiments: MLflow tracking, model registry, retraining jobs, reports and the CLI."""
