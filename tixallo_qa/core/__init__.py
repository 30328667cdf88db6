"""The foundation every other part of tixallo-qa builds on (no imports of the rest of the project)."""
