"""Identity: users, roles and sign-in."""
