"""The model registry, seen with each caller's own credentials: resolving references,
metadata, permission checks and model files, for MLflow servers, Unity Catalog and the
embedded demo registry."""
