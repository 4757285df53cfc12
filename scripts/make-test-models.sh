#!/usr/bin/env bash
# Makes the models the tests use (real architectures, tabular models); filled in per model family.
exit 0
