"""A fake GitHub REST API on loopback that unmodified PyGithub talks to.

Enough of the API for launch: the authenticated user, organizations, repositories, the
contents API (base64 bodies, git blob shas, sha required to update), issues, and GitHub Pages
(`POST/GET /repos/{owner}/{repo}/pages`: source branch and path validated as GitHub does, 409
when already enabled). Every `url`
it returns is absolute on the fake's own base, because PyGithub follows them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from typing import Any

from tests.fakes.server import FakeServer, Recorded, Reply

REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"


def blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


class FakeGitHub(FakeServer):
    """`repos` by full name; each repo keeps `files` (path → bytes), `issues`, `commits` and
    `pages` (its Pages site, once enabled)."""

    def __init__(self, token: str = "ghp_fake", login: str = "fake-user") -> None:
        super().__init__()
        self.token = token
        self.login = login
        self.repos: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.issues: dict[str, list[dict[str, Any]]] = {}
        self.commits: dict[str, list[str]] = {}
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.route("GET", r"/user", self._get_user)
        self.route("GET", r"/orgs/(?P<org>[^/]+)", self._get_org)
        self.route("POST", r"/user/repos", self._create_user_repo)
        self.route("POST", r"/orgs/(?P<org>[^/]+)/repos", self._create_org_repo)
        self.route("GET", REPO, self._get_repo)
        self.route("GET", REPO + r"/contents/(?P<path>.+)", self._get_contents)
        self.route("PUT", REPO + r"/contents/(?P<path>.+)", self._put_contents)
        self.route("GET", REPO + r"/hooks", self._list_hooks)
        self.route("POST", REPO + r"/hooks", self._create_hook)
        self.route("GET", REPO + r"/issues", self._list_issues)
        self.route("POST", REPO + r"/issues", self._create_issue)
        self.route("GET", REPO + r"/pages", self._get_pages)
        self.route("POST", REPO + r"/pages", self._create_pages)

    @property
    def html_base(self) -> str:
        return f"{self.base_url}/html"

    def _handle(self, rec: Recorded) -> Reply:
        auth = rec.header("Authorization") or ""
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return Reply(401, {"message": "Bad credentials", "status": "401"})
        return super()._handle(rec)

    def not_found(self, rec: Recorded) -> Reply:
        return Reply(404, {"message": "Not Found", "status": "404", "path": rec.path})

    # -- users and orgs ------------------------------------------------------------------

    def _user(self, login: str, kind: str = "User") -> dict[str, Any]:
        base = f"{self.base_url}/orgs/{login}" if kind == "Organization" else f"{self.base_url}/users/{login}"
        return {
            "login": login,
            "id": abs(hash(login)) % 10**8,
            "type": kind,
            "url": base,
            "repos_url": f"{base}/repos",
            "html_url": f"{self.html_base}/{login}",
        }

    def _get_user(self, _rec: Recorded, _m: re.Match[str]) -> Reply:
        return Reply(200, self._user(self.login))

    def _get_org(self, _rec: Recorded, m: re.Match[str]) -> Reply:
        return Reply(200, self._user(m["org"], "Organization"))

    # -- repositories --------------------------------------------------------------------

    def _create_repo(self, rec: Recorded, owner: dict[str, Any]) -> Reply:
        body = rec.json() or {}
        name = body.get("name") or ""
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name):
            return Reply(422, {"message": "Repository creation failed.", "errors": [{"field": "name"}]})
        full = f"{owner['login']}/{name}"
        if full in self.repos:
            return Reply(
                422,
                {
                    "message": "Repository creation failed.",
                    "errors": [
                        {
                            "resource": "Repository",
                            "code": "custom",
                            "field": "name",
                            "message": "name already exists on this account",
                        }
                    ],
                },
            )
        api = f"{self.base_url}/repos/{full}"
        repo = {
            "id": next(self._ids),
            "name": name,
            "full_name": full,
            "owner": owner,
            "private": bool(body.get("private", False)),
            "description": body.get("description"),
            "has_issues": body.get("has_issues", True),
            "default_branch": "main",
            "url": api,
            "html_url": f"{self.html_base}/{full}",
            "contents_url": api + "/contents/{+path}",
            "issues_url": api + "/issues{/number}",
        }
        self.repos[full] = repo
        self.files[full] = {}
        self.issues[full] = []
        self.commits[full] = []
        self.hooks[full] = []
        return Reply(201, repo)

    def _create_user_repo(self, rec: Recorded, _m: re.Match[str]) -> Reply:
        return self._create_repo(rec, self._user(self.login))

    def _create_org_repo(self, rec: Recorded, m: re.Match[str]) -> Reply:
        return self._create_repo(rec, self._user(m["org"], "Organization"))

    def _repo(self, m: re.Match[str]) -> dict[str, Any] | None:
        return self.repos.get(f"{m['owner']}/{m['repo']}")

    def _get_repo(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        return Reply(200, repo) if repo else self.not_found(rec)

    # -- contents ------------------------------------------------------------------------

    def _file_json(self, full: str, path: str, content: bytes, *, with_content: bool) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{full}/contents/{path}"
        data: dict[str, Any] = {
            "type": "file",
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": blob_sha(content),
            "size": len(content),
            "url": api,
            "html_url": f"{self.html_base}/{full}/blob/main/{path}",
            "git_url": f"{self.base_url}/repos/{full}/git/blobs/{blob_sha(content)}",
            "download_url": f"{self.base_url}/raw/{full}/main/{path}",
        }
        if with_content:
            data["encoding"] = "base64"
            data["content"] = base64.encodebytes(content).decode()
        return data

    def _get_contents(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        full, path = repo["full_name"], m["path"]
        files = self.files[full]
        if path in files:
            return Reply(200, self._file_json(full, path, files[path], with_content=True))
        prefix = path.rstrip("/") + "/"
        children = sorted({p[len(prefix) :].split("/", 1)[0] for p in files if p.startswith(prefix)})
        if children:
            listing = []
            for child in children:
                child_path = prefix + child
                if child_path in files:
                    listing.append(self._file_json(full, child_path, files[child_path], with_content=False))
                else:
                    listing.append({"type": "dir", "name": child, "path": child_path, "sha": "0" * 40})
            return Reply(200, listing)
        if not files:
            return Reply(404, {"message": "This repository is empty.", "status": "404"})
        return self.not_found(rec)

    def _put_contents(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        full, path = repo["full_name"], m["path"]
        body = rec.json() or {}
        if "message" not in body or "content" not in body:
            return Reply(422, {"message": 'Invalid request.\n\n"message" and "content" are required.'})
        content = base64.b64decode(body["content"])
        existing = self.files[full].get(path)
        if existing is not None:
            if "sha" not in body:
                return Reply(422, {"message": 'Invalid request.\n\n"sha" wasn\'t supplied.'})
            if body["sha"] != blob_sha(existing):
                return Reply(409, {"message": f"{path} does not match {body['sha']}"})
        self.files[full][path] = content
        commit_sha = hashlib.sha1(f"{full}:{len(self.commits[full])}:{path}".encode()).hexdigest()
        self.commits[full].append(body["message"])
        commit = {
            "sha": commit_sha,
            "url": f"{self.base_url}/repos/{full}/git/commits/{commit_sha}",
            "html_url": f"{self.html_base}/{full}/commit/{commit_sha}",
            "message": body["message"],
        }
        return Reply(
            201 if existing is None else 200,
            {"content": self._file_json(full, path, content, with_content=False), "commit": commit},
        )

    # -- hooks -------------------------------------------------------------------------

    def _public_hook(self, hook: dict[str, Any]) -> dict[str, Any]:
        # GitHub never returns a hook's secret.
        config = {k: ("********" if k == "secret" else v) for k, v in hook["config"].items()}
        return hook | {"config": config}

    def _list_hooks(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        return Reply(200, [self._public_hook(h) for h in self.hooks[repo["full_name"]]])

    def _create_hook(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        body = rec.json() or {}
        config = body.get("config") or {}
        if body.get("name") != "web" or not config.get("url"):
            return Reply(422, {"message": "Validation Failed", "errors": [{"field": "config"}]})
        full = repo["full_name"]
        hid = next(self._ids)
        hook = {
            "id": hid,
            "type": "Repository",
            "name": "web",
            "active": body.get("active", True),
            "events": body.get("events", ["push"]),
            "config": config,
            "url": f"{self.base_url}/repos/{full}/hooks/{hid}",
        }
        self.hooks[full].append(hook)
        return Reply(201, self._public_hook(hook))

    # -- issues --------------------------------------------------------------------------

    def _list_issues(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        state = (rec.query.get("state") or ["open"])[0]
        items = [i for i in self.issues[repo["full_name"]] if state == "all" or i["state"] == state]
        return Reply(200, list(reversed(items)))

    def _create_issue(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        body = rec.json() or {}
        if not body.get("title"):
            return Reply(422, {"message": "Validation Failed", "errors": [{"field": "title"}]})
        full = repo["full_name"]
        number = len(self.issues[full]) + 1
        issue = {
            "id": next(self._ids),
            "number": number,
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "url": f"{self.base_url}/repos/{full}/issues/{number}",
            "html_url": f"{self.html_base}/{full}/issues/{number}",
            "user": self._user(self.login),
            "labels": [],
        }
        self.issues[full].append(issue)
        return Reply(201, issue)

    # -- pages ---------------------------------------------------------------------------

    def _get_pages(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None or repo["full_name"] not in self.pages:
            return self.not_found(rec)
        return Reply(200, self.pages[repo["full_name"]])

    def _create_pages(self, rec: Recorded, m: re.Match[str]) -> Reply:
        repo = self._repo(m)
        if repo is None:
            return self.not_found(rec)
        full = repo["full_name"]
        if full in self.pages:
            return Reply(409, {"message": "GitHub Pages is already enabled.", "status": "409"})
        source = (rec.json() or {}).get("source") or {}
        branch, path = source.get("branch"), source.get("path", "/")
        if path not in ("/", "/docs"):
            return Reply(422, {"message": "Invalid request.\n\nThe source path must be / or /docs.", "status": "422"})
        if branch != repo["default_branch"] or not self.files[full]:
            return Reply(422, {"message": f"The branch {branch} does not exist.", "status": "422"})
        folder = path.strip("/")
        if f"{folder}/index.html".lstrip("/") not in self.files[full]:
            # GitHub enables it anyway and serves a 404 page; the fake records that.
            status = "errored"
        else:
            status = "built"
        owner, name = full.split("/", 1)
        site = {
            "url": f"{self.base_url}/repos/{full}/pages",
            "status": status,
            "cname": None,
            "custom_404": False,
            "html_url": f"{self.html_base}/pages/{owner}/{name}/",
            "build_type": "legacy",
            "source": {"branch": branch, "path": path},
            "public": not repo["private"],
            "https_enforced": True,
        }
        self.pages[full] = site
        return Reply(201, site)
