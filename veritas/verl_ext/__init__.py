"""Extensions that verl loads through its own plug-in points (``VERL_USE_EXTERNAL_MODULES``).

Nothing here is imported by ``veritas`` itself; each module is opt-in and imports verl.
"""
