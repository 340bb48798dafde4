"""Accord's custom Rasa actions. They only call Accord's internal API and pass on its template ids."""
