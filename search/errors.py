"""The one exception type that the command line turns into a one-line message and a non-zero exit."""


class UserError(Exception):
    """Something the user can fix: a config value, a file, a storage URL. The message says what and how."""
