"""The generated package's runtime as ordinary modules: each is copied into a package by a template that prints
`{{ runtime("NAME.py") }}` (whole), or `{{ runtime("NAME.py", trimmed=True) }}` (without the registered functions that
import a library the package does not depend on), so it is linted and unit-tested here. A module imports the
package's own modules relatively (`from .pipeline import Predictor`), as it will inside the package."""
