# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo
# sys-kernel/linux-firmware: firmware blobs behind their own license, which
# Gentoo's default ACCEPT_LICENSE does not accept.
EAPI=8
inherit fixture-debian

DESCRIPTION="Linux firmware files (fixture: Debian's firmware-linux-free)"
HOMEPAGE="https://git.kernel.org/?p=linux/kernel/git/firmware/linux-firmware.git"
LICENSE="GPL-2 GPL-2+ GPL-3 BSD MIT linux-fw-redistributable"
SLOT="0"
KEYWORDS="amd64 x86"
