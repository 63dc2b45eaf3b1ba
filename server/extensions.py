"""Extensions created unbound and bound to the app in ``create_app``, like Flask's tutorial."""

from flask_socketio import SocketIO

socketio = SocketIO()
