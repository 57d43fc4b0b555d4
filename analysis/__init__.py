"""What is learned from answers: item analysis, reliability, factor models, attrition, reports."""
