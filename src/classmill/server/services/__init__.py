"""The only code that reads or writes the database; routes call these and never query themselves."""
