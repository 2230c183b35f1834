"""Tests of the recording arrival processor (lambda/recording_processor)."""
