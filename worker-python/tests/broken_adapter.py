"""An adapter module that raises while it is imported, as one missing its configuration would."""


class AdapterConfigMissing(Exception):
    """The module's own exception type: loading must report it, not a generic wrapper."""


raise AdapterConfigMissing("MODEL_PATH is not set")
