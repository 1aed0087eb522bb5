# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo sys-fs/xfsprogs.
EAPI=8
inherit fixture-debian

DESCRIPTION="XFS filesystem utilities (fixture: Debian's build)"
HOMEPAGE="https://xfs.wiki.kernel.org/"
LICENSE="LGPL-2.1"
SLOT="0"
KEYWORDS="amd64 x86"
