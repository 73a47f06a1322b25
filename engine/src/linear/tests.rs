//! Unit tests of the logistic regression.
