// The chat page's client: join with a nickname, send on submit, show what arrives.
"use strict";

(function () {
  const joinForm = document.getElementById("join");
  const sayForm = document.getElementById("say");
  const nickInput = document.getElementById("nick");
  const textInput = document.getElementById("text");
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  let socket = null;

  // Text is always set with textContent, so nothing a user sends becomes markup.
  function append(kind, nick, text, extraClass) {
    const item = document.createElement("li");
    item.className = kind + (extraClass ? " " + extraClass : "");
    if (nick !== null) {
      const name = document.createElement("span");
      name.className = "nick";
      name.textContent = nick;
      item.appendChild(name);
    }
    item.appendChild(document.createTextNode(text));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function show(event, extraClass) {
    if (event.type === "message") {
      append("message", event.nick, event.text, extraClass);
    } else if (event.type === "join") {
      append("notice", null, event.nick + " joined", extraClass);
    } else if (event.type === "leave") {
      append("notice", null, event.nick + " left", extraClass);
    }
  }

  function connect(nick) {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws?nick=" + encodeURIComponent(nick));
    status.textContent = "Connecting…";

    socket.addEventListener("message", function (message) {
      const event = JSON.parse(message.data);
      if (event.type === "welcome") {
        event.history.forEach(function (old) { show(old, "history"); });
        status.textContent = "Connected as " + event.nick + ". Here: " + event.members.join(", ");
        joinForm.hidden = true;
        sayForm.hidden = false;
        textInput.focus();
      } else {
        show(event);
      }
    });

    socket.addEventListener("close", function (event) {
      status.textContent = "Disconnected (code " + event.code + ")"
        + (event.reason ? ": " + event.reason : ".");
      joinForm.hidden = false;
      sayForm.hidden = true;
      socket = null;
    });
  }

  joinForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (socket === null && nickInput.value.trim()) {
      connect(nickInput.value.trim());
    }
  });

  sayForm.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = textInput.value.trim();
    if (socket !== null && socket.readyState === WebSocket.OPEN && text) {
      socket.send(text);
      textInput.value = "";
    }
  });
})();
