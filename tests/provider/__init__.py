"""Tests of the chime-sdk-voice custom-resource provider (lambda/chime_provider)."""
