"""Engine: the one train/eval loop, evaluation, checkpointing and the job launcher."""
