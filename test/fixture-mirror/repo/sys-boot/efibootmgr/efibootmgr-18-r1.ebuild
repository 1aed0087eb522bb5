# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo sys-boot/efibootmgr.
EAPI=8
inherit fixture-debian

DESCRIPTION="User-space application to modify the EFI boot manager (fixture: Debian's build)"
HOMEPAGE="https://github.com/rhboot/efibootmgr"
LICENSE="GPL-2"
SLOT="0"
KEYWORDS="amd64"
