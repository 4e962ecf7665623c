"""Experiment trackers (MLflow, Weights & Biases): a finished run folder logged as a tracker run.

The run folder is the record; a tracker gets a copy of what it holds (read through run.reader),
never anything the folder does not have, and never a secret (secrets.py). mlflow and wandb are
imported only inside the backend that needs them.
"""
