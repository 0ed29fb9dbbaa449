"""The platform's own machinery, for the super admin: background job queues and their failures."""
