# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo app-admin/sudo.
EAPI=8
inherit fixture-debian

DESCRIPTION="Allows users or groups to run commands as other users (fixture: Debian's build)"
HOMEPAGE="https://www.sudo.ws/"
LICENSE="ISC sudo"
SLOT="0"
KEYWORDS="amd64 x86"
