# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo
# sys-fs/btrfs-progs, whose USE=convert decides whether btrfs-convert is built.
EAPI=8
inherit fixture-debian

DESCRIPTION="Btrfs filesystem utilities (fixture: Debian's build)"
HOMEPAGE="https://btrfs.readthedocs.io/"
LICENSE="GPL-2"
SLOT="0/0"
KEYWORDS="amd64 x86"
IUSE="+convert"

src_install() {
	fixture-debian_src_install
	use convert || rm "${ED}"/usr/bin/btrfs-convert || die
}
