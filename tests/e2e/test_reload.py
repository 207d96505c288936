"""SIGHUP reloads jwt_secret, the admin credentials and room_allow from the
configuration file; connections already open stay open."""

import signal
import uuid

from signal_client import KeyExchange, Rest, session, user_token

REST_BASIC_FIRST = ("admin", "first-password")
REST_BASIC_SECOND = ("admin", "second-password")


def write_config(path, secret: str, password: str, rooms: str):
    path.write_text(
        "# written by the end-to-end suite\n"
        f"jwt_secret = {secret}\n"
        "admin_user = admin\n"
        f"admin_password = {password}\n"
        f"room_allow = {rooms}\n"
    )


async def test_sighup_reloads_secret_credentials_and_policy(own_server, tmp_path):
    config = tmp_path / "signal.conf"
    write_config(config, "first-secret", REST_BASIC_FIRST[1], "public-*")
    target = own_server(config=str(config), jwt_secret=None, admin_user=None, admin_password=None, room_allow=None)
    target.secret, target.basic = "first-secret", REST_BASIC_FIRST
    rest = Rest(target)
    team_room = f"team-{uuid.uuid4().hex[:6]}"

    async with session(target, "before-reload") as resident:
        await resident.join(team_room)
        await resident.flush()
        info = (await rest.get_client(resident.client_id)).json()
        assert team_room not in info["rooms"], "room_allow public-* let a team- room in"

        write_config(config, "second-secret", REST_BASIC_SECOND[1], "team-*")
        target.process.popen.send_signal(signal.SIGHUP)
        target.process.wait_for_line(r"event=reloaded")

        # The admin credentials changed.
        response = await rest.list_clients()
        assert response.status == 401, f"old Basic credentials after reload: {response}"
        target.basic = REST_BASIC_SECOND
        assert (await rest.list_clients()).status == 200

        # Tokens signed with the old secret fail, the new secret works.
        async with session(target) as stale:
            await stale.send_json(
                {"event": "authenticate", "data": {"token": user_token("first-secret", "stale"), "clientPublicKey": KeyExchange().public_b64}}
            )
            await stale.expect_error("Authentication failed")
            code, _ = await stale.expect_close()
            assert code == 4003
        async with session(target) as fresh:
            data = await fresh.authenticate(user_token("second-secret", "after-reload"))
            assert data["userId"] == "after-reload"

        # The new policy applies to the client that was already connected.
        await resident.join(team_room)
        info = await rest.wait_for_client(resident.client_id, lambda info: team_room in info["rooms"])
        assert sorted(info["rooms"]) == sorted([resident.client_id, "ws-default", "ws-notification", team_room])
        await rest.send_to_room(team_room, "e2e.reloaded", {"room": team_room})
        envelope = await resident.expect("e2e.reloaded")
        assert envelope.data == {"room": team_room}
