"""Foundation shared by every platform client: config, errors, HTTP, auth, XML, time."""
