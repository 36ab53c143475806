"""The JSON API for organisers' scripts, and its OpenAPI document."""
