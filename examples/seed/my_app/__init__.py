"""A stand-in for the application the seed article's suite imports.

``api.call`` is the app's own HTTP client; ``config.get_setting`` is its own
settings lookup. Both exist so that the article's test file runs unchanged.
"""
