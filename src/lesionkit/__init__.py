"""lesionkit: chronic-stroke lesions on T1-weighted MRI.

Subpackages follow the data flow: ``io`` → (``synth`` | ``preprocess``) → ``model`` →
``metrics`` / ``analysis`` → ``report``. Import them directly (``from lesionkit.io import load_cohort``);
this top-level module stays light so ``lesionkit --help`` is instant.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
