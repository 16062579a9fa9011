"""Data side of vidact: annotations, decoding, pipelines, datasets and synthetic inputs."""
