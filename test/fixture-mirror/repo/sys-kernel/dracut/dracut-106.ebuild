# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo sys-kernel/dracut.
EAPI=8
inherit fixture-debian

DESCRIPTION="Generic initramfs generation tool (fixture: Debian's build)"
HOMEPAGE="https://github.com/dracut-ng/dracut-ng"
LICENSE="GPL-2"
SLOT="0"
KEYWORDS="amd64 x86"
