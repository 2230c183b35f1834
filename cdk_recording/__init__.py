"""cdk-recording."""
