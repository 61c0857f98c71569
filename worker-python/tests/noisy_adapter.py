"""An adapter module that prints while it is imported, as careless libraries do."""

print("noisy_adapter: printed at import time")

from sample_adapters import SampleAdapter  # noqa: E402 - the print above must come first


class NoisyAdapter(SampleAdapter):
    pass
