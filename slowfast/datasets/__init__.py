"""Video data sets: list files, decoding, sampling, augmentation, loaders.

Import the modules themselves (``slowfast.datasets.build``, ``.loader``): this package face loads nothing, so
the list-file format (``video_list``) and the synthetic-data rules are usable without torch.
"""
