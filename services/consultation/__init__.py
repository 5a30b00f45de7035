"""The consultation service: rounds, meetings, appraisal, decision, results."""
