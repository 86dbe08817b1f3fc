-- Passwords: "test" and "other" (hashed with few iterations, to keep the tests fast).
INSERT INTO user (username, password)
VALUES
  ('test', 'pbkdf2:sha256:1000$iGNveZHDx9cJoiEY$4c4fa7b24235e3b49936432bafac2fe02f1597a86cb04f42cccc431990057d18'),
  ('other', 'pbkdf2:sha256:1000$AdLVJmxLMoukTZZ3$c812881e198be38433da3ecf7262a4a11d08323e21a17588b52d2fe00baad3bf');

INSERT INTO note (owner_id, title, body, created)
VALUES
  (1, 'first note', 'remember the milk', '2026-01-01 00:00:00'),
  (2, 'not yours', 'private', '2026-01-02 00:00:00');
