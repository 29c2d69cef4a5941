from tests import factories as f


def test_home_and_calls_pages_render(client):
    _cn, _be, committee = f.world()
    f.call(committee)
    assert client.get("/").status_code == 200
    response = client.get("/calls/")
    assert response.status_code == 200
    assert b"CN-BE-" in response.data
