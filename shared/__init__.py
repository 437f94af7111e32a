"""The platform package every yunkefu service imports (import name ``shared``)."""
