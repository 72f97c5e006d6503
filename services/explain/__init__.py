"""Why a model answers what it does: SHAP explanations, global importance, what-if sweeps,
and the training reference they all compare against. No Dash, no Flask."""
