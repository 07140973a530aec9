from trigc.estimate.summary import Estimate, LayerEstimate, estimate  # noqa: F401
