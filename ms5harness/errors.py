"""One error type whose message is a single line: what went wrong and how to fix it."""


class HarnessError(Exception):
    """A failure the user can act on; the CLI prints it as one line and exits 1."""

    def __init__(self, cause: str, fix: str = ""):
        self.cause = cause
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = " ".join(self.cause.split())
        if self.fix:
            text += f" (fix: {' '.join(self.fix.split())})"
        return text


class NothingFound(AssertionError):
    """A lookup that must find something found nothing (a selector matching no pod, a Secret without
    the key): never a silent pass. An AssertionError, so a suite reports it as a failed check."""
