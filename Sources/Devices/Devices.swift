// Device models.
