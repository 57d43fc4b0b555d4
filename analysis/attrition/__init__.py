"""Attrition prediction."""
