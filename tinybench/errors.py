"""User-facing errors: each carries an exit code and a message that says what to do."""


class TinybenchError(Exception):
    """Base of every error tinybench reports to a user in one line."""

    exit_code = 1


class ConfigError(TinybenchError):
    """Bad input: an unknown task, board or backend, an unusable model file."""

    exit_code = 2


class ToolNotFoundError(TinybenchError):
    """A tool or upstream component is missing; the message says how to get it."""

    exit_code = 3


class BuildError(TinybenchError):
    """Converting a model or compiling firmware failed."""

    exit_code = 4


class FitError(BuildError):
    """The firmware does not fit the board's Flash or RAM."""


class SimulationError(TinybenchError):
    """The firmware faulted, hung or misbehaved in a simulator."""

    exit_code = 5


class DeviceError(SimulationError):
    """A real board did not answer, answered wrongly, or could not be flashed."""


class RegressionFound(TinybenchError):
    """A compared run is worse than its baseline beyond a threshold."""

    exit_code = 10


class NothingComparable(TinybenchError):
    """Fewer baseline runs than required were compared: the gate would have checked too little."""

    exit_code = 11


class BaselineIncomplete(TinybenchError):
    """A baseline was not written because some of its runs were skipped or broken."""

    exit_code = 12
