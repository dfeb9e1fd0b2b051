"""The working-day calendar: chinesecalendar's data, the province's overrides, deadlines in working days."""
