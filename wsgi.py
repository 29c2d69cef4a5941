from cfp import create_app

app = create_app()
