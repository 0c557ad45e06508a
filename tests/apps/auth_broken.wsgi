# A syntax error: the auth scripts of tests/auth_scripts.rs that cannot load.
def check_password(environ, user, password:
    return True
