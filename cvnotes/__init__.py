"""cvnotes: the methods and figures behind a bilingual study site on computer-vision basics.

Importing the package has no side effects: nothing is downloaded, trained or drawn.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
